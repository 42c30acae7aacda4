from neuronseg.cli import main

main()

"""Everything that writes a result folder: the files of `segment` (regions, labels, ImageJ
ROIs, arrays, pictures, report.html, NWB, a Suite2p plane folder), of `curate` and of
`image segment`. Each folder is written to a hidden temporary name and renamed into place."""

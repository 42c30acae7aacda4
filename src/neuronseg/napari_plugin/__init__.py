"""napari plugin (npe2 manifest ``napari.yaml``): open result folders, save labels, segment a layer."""

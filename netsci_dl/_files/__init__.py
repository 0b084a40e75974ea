"""netsci_dl._files."""

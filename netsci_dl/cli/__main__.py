"""``python -m netsci_dl.cli``: the same as the ``netsci-dl`` console script."""

from netsci_dl.cli import main

if __name__ == "__main__":
    main()

"""Turn a party branch's website posts into an email newsletter and send it to its members."""

__version__ = "0.1.0"

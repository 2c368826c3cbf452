"""Querying views: option encoding (``params``) and row iteration (``iterator``)."""

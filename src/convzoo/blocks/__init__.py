"""Pieces shared by two or more families."""

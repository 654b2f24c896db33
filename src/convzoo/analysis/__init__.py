"""Measuring networks: per-layer tables, multiply-adds, comparisons."""

from convzoo.analysis.summary import LayerRow, Summary, summary

__all__ = ["LayerRow", "Summary", "summary"]

"""Benchmarks: the bot against Telegram's limits and against bare aiogram (`python -m bench`).

Figures are printed, never asserted; see BENCHMARKS.md.
"""

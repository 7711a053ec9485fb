"""The classic-analysis suite: cases, data and R references (see cases.py)."""

"""labkit.ui"""

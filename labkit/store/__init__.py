"""labkit.store"""

"""labkit.native"""

"""labkit.testing"""

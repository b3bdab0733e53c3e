"""labkit.drivers"""

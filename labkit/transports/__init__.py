"""labkit.transports"""

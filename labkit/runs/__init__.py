"""labkit.runs"""

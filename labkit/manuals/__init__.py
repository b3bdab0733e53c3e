"""Facts from vendors' manuals that a driver and its simulator twin both need.

A table printed in a programming guide (the probe ratios a scope accepts, say) has one home
here, so the driver that validates against it and the twin that refuses what the real
instrument refuses cannot drift apart. It holds data only and imports nothing of labkit:
drivers and simulators, which may not import each other, may both import it.
"""

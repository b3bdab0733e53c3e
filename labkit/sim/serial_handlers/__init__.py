"""pyserial URL handlers for labkit's simulators (pyserial imports ``protocol_<scheme>`` here)."""

"""Camera drivers: GenICam cameras through harvesters, PVCAM cameras through libpvcam."""

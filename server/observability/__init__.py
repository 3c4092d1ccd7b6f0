"""What the desk tells people about itself: the live dashboard's
snapshot, the last hours' history and the reports.
"""

"""Node logic as plain classes over core types: runs under rclpy, bag replay and simulation.

Kept import-free on purpose: importing a submodule must not pull in others' dependencies.
"""

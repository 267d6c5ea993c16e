"""Running stayledger's batch work on Apache Spark (optional: ``pip install ".[spark]"``).

``session.py`` holds the settings and the one place a Spark session is made; the engines and jobs that use
it import pyspark only through it, so that the rest of stayledger never needs pyspark or Java.
"""

"""The HJ 212 gateway: data loggers over TCP in, the wire contract over MQTT out."""

"""Client I/O layer: host lists, HTTP config streaming, node pipelines and the
vBucket router. Called by the API layer; calls only ``couchbase.protocol``."""

// The engine lives here (engine, shard loading, KV caches, generation, sampling).

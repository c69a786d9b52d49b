/* schema.sql.h - the store's schema, version 1. Later versions add migrations, never edit this. */
#pragma once
static const char store_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    /* layers: one row per extracted layer, keyed by chain id; parent is the chain below */
    "CREATE TABLE IF NOT EXISTS layers(\n"
    "  chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT,\n"
    "  size INTEGER NOT NULL DEFAULT 0, created_ns INTEGER NOT NULL DEFAULT 0);\n"
    /* images: id is the config digest "sha256:<hex>", config the image config JSON as stored */
    "CREATE TABLE IF NOT EXISTS images(\n"
    "  id TEXT PRIMARY KEY, config TEXT NOT NULL, created_ns INTEGER NOT NULL DEFAULT 0,\n"
    "  size INTEGER NOT NULL DEFAULT 0, parent TEXT, top_layer TEXT);\n"
    "CREATE TABLE IF NOT EXISTS image_layers(\n"
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE, idx INTEGER NOT NULL,\n"
    "  chain_id TEXT NOT NULL REFERENCES layers(chain_id), PRIMARY KEY(image_id, idx));\n"
    /* tags: normalized reference "repo:tag" -> image */
    "CREATE TABLE IF NOT EXISTS tags(\n"
    "  ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,\n"
    "  created_ns INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS tags_image ON tags(image_id);\n"
    "CREATE TABLE IF NOT EXISTS containers(\n"
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, image_id TEXT NOT NULL REFERENCES images(id),\n"
    "  image_ref TEXT NOT NULL, created_ns INTEGER NOT NULL, path TEXT NOT NULL, args TEXT NOT NULL,\n"
    "  config TEXT NOT NULL, host_config TEXT NOT NULL, network TEXT NOT NULL DEFAULT '{}',\n"
    "  status TEXT NOT NULL DEFAULT 'created', pid INTEGER NOT NULL DEFAULT 0,\n"
    "  exit_code INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',\n"
    "  started_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',\n"
    "  finished_at TEXT NOT NULL DEFAULT '0001-01-01T00:00:00Z',\n"
    "  restart_count INTEGER NOT NULL DEFAULT 0, oom_killed INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX IF NOT EXISTS containers_image ON containers(image_id);\n";

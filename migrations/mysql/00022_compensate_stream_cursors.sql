-- Where the compensate engine (replies) and command services (commands) are in each shard
-- of a Kinesis stream, with a lease so that one instance at a time reads a shard.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}saga_cursors` (
  `consumer`    VARCHAR(64) NOT NULL,
  `stream`      VARCHAR(128) NOT NULL,
  `shard`       VARCHAR(128) NOT NULL,
  -- the last sequence number handled; NULL: start at the oldest record
  `sequence`    VARCHAR(128) NULL,
  -- the shard is closed and read to its end
  `finished`    TINYINT NOT NULL DEFAULT 0,
  `lease_owner` VARCHAR(64) NULL,
  `lease_until` DATETIME(6) NULL,
  `updated_at`  DATETIME(6) NOT NULL,
  PRIMARY KEY (`consumer`, `stream`, `shard`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}saga_cursors`;

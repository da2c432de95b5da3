-- The CDC daemon's checkpoints (`strangler cdc run --checkpoint mysql://...`): one row per
-- pipeline name. The schema history travels with the position; schema_hash lets a save
-- skip rewriting it when it did not change.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}cdc_checkpoints` (
  `name`        VARCHAR(191) NOT NULL,
  `resume`      TEXT NOT NULL,
  `event_time`  DATETIME(6) NULL,
  `source`      TEXT NOT NULL,
  `schema_json` LONGTEXT NULL,
  `schema_hash` CHAR(64) NOT NULL DEFAULT '',
  `saved_at`    DATETIME(6) NOT NULL,
  `version`     VARCHAR(64) NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}cdc_checkpoints`;

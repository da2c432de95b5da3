-- Parity runs (`strangler compare data|shadow --store mysql://...`): one row per run.
-- fingerprint identifies the comparison (addresses and mapping) so that --resume finds
-- the latest unfinished run of the same one; report_json is the run as reported.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}compare_runs` (
  `id`          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `kind`        VARCHAR(16) NOT NULL,
  `name`        VARCHAR(191) NOT NULL DEFAULT '',
  `fingerprint` CHAR(64) NOT NULL,
  `status`      VARCHAR(16) NOT NULL,
  `verdict`     VARCHAR(16) NOT NULL DEFAULT '',
  `source`      TEXT NOT NULL,
  `target`      TEXT NOT NULL,
  `config_json` LONGTEXT NULL,
  `error`       TEXT NULL,
  `report_json` LONGTEXT NULL,
  `started_at`  DATETIME(6) NOT NULL,
  `finished_at` DATETIME(6) NULL,
  `updated_at`  DATETIME(6) NOT NULL,
  `version`     VARCHAR(64) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `by_fingerprint` (`kind`, `fingerprint`, `id`),
  KEY `by_start` (`started_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}compare_runs`;

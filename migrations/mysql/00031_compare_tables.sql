-- One row per table pair of a data run: counts, the resume point (canonical key of the
-- last chunk completed) and the table's result with its capped samples.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}compare_tables` (
  `run_id`       BIGINT UNSIGNED NOT NULL,
  `source_table` VARCHAR(191) NOT NULL,
  `target_table` VARCHAR(191) NOT NULL,
  `verdict`      VARCHAR(16) NOT NULL,
  `source_rows`  BIGINT NOT NULL DEFAULT 0,
  `target_rows`  BIGINT NOT NULL DEFAULT 0,
  `missing`      BIGINT NOT NULL DEFAULT 0,
  `extra`        BIGINT NOT NULL DEFAULT 0,
  `changed`      BIGINT NOT NULL DEFAULT 0,
  `in_flight`    BIGINT NOT NULL DEFAULT 0,
  `parity`       DOUBLE NOT NULL DEFAULT 0,
  `chunks`       BIGINT NOT NULL DEFAULT 0,
  `resume_key`   TEXT NULL,
  `done`         TINYINT(1) NOT NULL DEFAULT 0,
  `result_json`  LONGTEXT NOT NULL,
  `updated_at`   DATETIME(6) NOT NULL,
  PRIMARY KEY (`run_id`, `source_table`, `target_table`),
  KEY `by_table` (`source_table`, `target_table`, `run_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}compare_tables`;

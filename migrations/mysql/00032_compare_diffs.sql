-- The differing rows of finished data runs (the samples, capped by --max-samples), one
-- row each, for queries such as "which keys of orders differed in the last runs".
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}compare_diffs` (
  `id`           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `run_id`       BIGINT UNSIGNED NOT NULL,
  `source_table` VARCHAR(191) NOT NULL,
  `target_table` VARCHAR(191) NOT NULL,
  `kind`         VARCHAR(16) NOT NULL,
  `key_json`     TEXT NOT NULL,
  `columns_json` LONGTEXT NULL,
  PRIMARY KEY (`id`),
  KEY `by_run` (`run_id`, `source_table`, `target_table`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}compare_diffs`;

-- What `strangler compare shadow` saw per endpoint (method and route) during a run:
-- counters, differing fields, learnt noise and samples, updated as the proxy runs.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}compare_endpoints` (
  `run_id`      BIGINT UNSIGNED NOT NULL,
  `endpoint`    VARCHAR(191) NOT NULL,
  `requests`    BIGINT NOT NULL DEFAULT 0,
  `compared`    BIGINT NOT NULL DEFAULT 0,
  `matches`     BIGINT NOT NULL DEFAULT 0,
  `mismatches`  BIGINT NOT NULL DEFAULT 0,
  `errors`      BIGINT NOT NULL DEFAULT 0,
  `result_json` LONGTEXT NOT NULL,
  `updated_at`  DATETIME(6) NOT NULL,
  PRIMARY KEY (`run_id`, `endpoint`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}compare_endpoints`;

-- Per-aggregate event numbering (dualwrite LockAggregates): the writer upserts the
-- aggregate's row in the legacy transaction, which locks it until commit, so the events of
-- one aggregate are numbered 1, 2, 3... without gaps and in commit order.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}aggregate_sequences` (
  `aggregate_type` VARCHAR(191) NOT NULL,
  `aggregate_id`   VARCHAR(191) NOT NULL,
  `sequence`       BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (`aggregate_type`, `aggregate_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}aggregate_sequences`;

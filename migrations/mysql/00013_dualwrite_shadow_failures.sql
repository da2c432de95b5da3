-- Shadow mode's failed mirrors, for reconciliation: the legacy write committed but its
-- event did not reach the target (queue full, timeout, target error, commit outcome
-- unknown). The comparator reports them; resolved_at marks those reconciled.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}shadow_failures` (
  `id`             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `event_id`       VARCHAR(64) NOT NULL,
  `event_type`     VARCHAR(191) NOT NULL,
  `aggregate_type` VARCHAR(191) NOT NULL,
  `aggregate_id`   VARCHAR(191) NOT NULL,
  `event`          LONGTEXT NOT NULL,
  `target`         VARCHAR(191) NOT NULL,
  `reason`         VARCHAR(32) NOT NULL,
  `error`          TEXT NULL,
  `occurred_at`    DATETIME(6) NOT NULL,
  `failed_at`      DATETIME(6) NOT NULL,
  `resolved_at`    DATETIME(6) NULL,
  PRIMARY KEY (`id`),
  KEY `aggregate` (`aggregate_type`, `aggregate_id`),
  KEY `failed_at` (`failed_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}shadow_failures`;

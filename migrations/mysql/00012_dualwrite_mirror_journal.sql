-- The mirror journal (dualwrite mirror mode): one row per unit, inserted and committed on
-- its own before the first call to the target. The legacy transaction then sets
-- legacy_committed = 1 on it, so the row says whether the legacy write committed, and its
-- lock makes anyone asking wait while that transaction is still undecided. Recovery
-- finishes committed units and compensates the others; done units are deleted,
-- compensated ones kept (for reconciliation) until purged.
-- state: pending, compensating, compensated.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}mirror_journal` (
  `unit_id`          VARCHAR(64) NOT NULL,
  `state`            VARCHAR(16) NOT NULL,
  `legacy_committed` TINYINT NOT NULL DEFAULT 0,
  `target`           VARCHAR(191) NOT NULL,
  `events`           LONGTEXT NOT NULL,
  `attempts`         INT NOT NULL DEFAULT 0,
  `last_error`       TEXT NULL,
  `created_at`       DATETIME(6) NOT NULL,
  `updated_at`       DATETIME(6) NOT NULL,
  `next_attempt_at`  DATETIME(6) NOT NULL,
  PRIMARY KEY (`unit_id`),
  KEY `state_next_attempt` (`state`, `next_attempt_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}mirror_journal`;

-- The transactional outbox (dualwrite outbox mode): the monolith's transaction inserts its
-- events here together with the legacy write. Delivered either by the CDC daemon
-- (`strangler cdc run --outbox db.{{.Prefix}}outbox`, the writer then deletes each row in
-- the same transaction, so the table stays empty) or by `strangler outbox relay`, which
-- reads from the head of the table, publishes and deletes what was published.
-- seq orders rows; the relay never remembers a "last seen" seq, so a transaction that
-- commits late with a lower seq is still found (no commit-order gap).
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}outbox` (
  `seq`            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `id`             VARCHAR(64) NOT NULL,
  `aggregate_type` VARCHAR(191) NOT NULL,
  `aggregate_id`   VARCHAR(191) NOT NULL,
  `type`           VARCHAR(191) NOT NULL,
  `payload`        LONGTEXT NOT NULL,
  `headers`        TEXT NULL,
  `sequence`       BIGINT UNSIGNED NULL,
  `occurred_at`    DATETIME(6) NOT NULL,
  PRIMARY KEY (`seq`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}outbox`;

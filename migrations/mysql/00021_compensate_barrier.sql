-- The barrier of the compensate engine (after DTM's): a row per (saga, step, op) that has
-- been let through. A compensation that finds no action row inserts one (origin
-- "compensation") and does nothing: the action never ran ("null compensation"); an action
-- that then arrives finds that row and does not run ("hanging"). Services that execute
-- commands insert these rows in their own business transaction (compensate/barrier).
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}saga_barrier` (
  `saga_id`    VARCHAR(64) NOT NULL,
  `step`       VARCHAR(191) NOT NULL,
  -- action or compensation
  `op`         VARCHAR(16) NOT NULL,
  -- which op inserted the row: an action row inserted by a compensation is a tombstone
  `origin`     VARCHAR(16) NOT NULL,
  `created_at` DATETIME(6) NOT NULL,
  PRIMARY KEY (`saga_id`, `step`, `op`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}saga_barrier`;

-- Sagas of the compensate engine: one row per saga, one per step, one per attempt of an
-- action or compensation. Times are UTC and compared with the database's clock only, so
-- that instances with skewed clocks agree on leases and due times.
-- +up
CREATE TABLE IF NOT EXISTS `{{.Prefix}}sagas` (
  `id`          CHAR(36) NOT NULL,
  `name`        VARCHAR(191) NOT NULL,
  -- running, compensating, completed, compensated, stuck
  `state`       VARCHAR(16) NOT NULL,
  `input`       LONGBLOB NOT NULL,
  -- index of the step being run or compensated
  `step`        INT NOT NULL DEFAULT 0,
  `error`       TEXT NULL,
  -- when an engine should next look at the saga (retry backoff, reply deadline)
  `next_run_at` DATETIME(6) NOT NULL,
  -- the engine instance running the saga, until lease_until; a claim writes a new owner,
  -- and every state change checks it (fencing)
  `lease_owner` VARCHAR(64) NULL,
  `lease_until` DATETIME(6) NULL,
  -- times an operator re-armed the saga with `strangler compensate retry`
  `retries`     INT NOT NULL DEFAULT 0,
  `created_at`  DATETIME(6) NOT NULL,
  `updated_at`  DATETIME(6) NOT NULL,
  `finished_at` DATETIME(6) NULL,
  PRIMARY KEY (`id`),
  KEY `{{.Prefix}}sagas_due` (`state`, `next_run_at`),
  KEY `{{.Prefix}}sagas_name` (`name`, `created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `{{.Prefix}}saga_steps` (
  `saga_id`         CHAR(36) NOT NULL,
  `idx`             INT NOT NULL,
  `name`            VARCHAR(191) NOT NULL,
  -- func, tx or command
  `kind`            VARCHAR(16) NOT NULL,
  -- pending, running, done, failed, unknown, compensating, compensated, skipped
  `state`           VARCHAR(16) NOT NULL,
  `action_attempts` INT NOT NULL DEFAULT 0,
  `comp_attempts`   INT NOT NULL DEFAULT 0,
  -- comp_attempts when an operator last re-armed the saga: the retry budget counts from here
  `comp_base`       INT NOT NULL DEFAULT 0,
  `output`          LONGBLOB NULL,
  `error`           TEXT NULL,
  `next_attempt_at` DATETIME(6) NULL,
  -- end of the attempt in flight (action or compensation timeout, reply deadline)
  `deadline`        DATETIME(6) NULL,
  -- the reply to a command, written by whichever instance reads it, consumed by the runner
  `reply_op`        VARCHAR(16) NULL,
  `reply_attempt`   INT NULL,
  `reply_status`    VARCHAR(16) NULL,
  `reply_error`     TEXT NULL,
  `reply_output`    LONGBLOB NULL,
  `updated_at`      DATETIME(6) NOT NULL,
  PRIMARY KEY (`saga_id`, `idx`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS `{{.Prefix}}saga_attempts` (
  `saga_id`     CHAR(36) NOT NULL,
  `idx`         INT NOT NULL,
  `step`        VARCHAR(191) NOT NULL,
  -- action or compensation
  `op`          VARCHAR(16) NOT NULL,
  `attempt`     INT NOT NULL,
  `owner`       VARCHAR(64) NOT NULL,
  `started_at`  DATETIME(6) NOT NULL,
  -- commands: when the command record was accepted by the stream
  `sent_at`     DATETIME(6) NULL,
  `finished_at` DATETIME(6) NULL,
  -- ok, failed, error, timeout, lost, noop
  `outcome`     VARCHAR(16) NULL,
  `error`       TEXT NULL,
  PRIMARY KEY (`saga_id`, `idx`, `op`, `attempt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- +down
DROP TABLE IF EXISTS `{{.Prefix}}saga_attempts`;
DROP TABLE IF EXISTS `{{.Prefix}}saga_steps`;
DROP TABLE IF EXISTS `{{.Prefix}}sagas`;

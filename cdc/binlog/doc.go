// Package binlog reads a MySQL or MariaDB binlog as a replica does: it checks that the
// source is fit for change data capture, connects with go-mysql's BinlogSyncer, and hands
// out binlog events in order, each once, reconnecting with backoff when the source restarts
// or the connection drops. It knows where transactions start and end and so where a stream
// can be resumed (Position, Resume).
package binlog

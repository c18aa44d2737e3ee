package main

// FerretDB 1.24 runs SQLite in WAL mode and leaves checkpointing to SQLite's automatic
// PASSIVE checkpoints, which copy pages into the database file but never shrink the -wal
// file: old page images of replaced and deleted documents stay readable there until later
// commits happen to overwrite them. With secure_delete on (main.go), SQLite zeroes freed
// content in the pages it writes; truncateWALs then copies those pages into the database file
// and cuts the WAL to zero bytes, so a replaced document leaves every file within one or two
// intervals.

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// truncateWALs checkpoints every database in dir with a non-empty WAL every interval until
// ctx is done. A busy database (a reader on an old snapshot, a writer) is tried again next tick.
func truncateWALs(ctx context.Context, dir string, interval time.Duration, l *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			if wi, err := os.Stat(file + "-wal"); err != nil || wi.Size() == 0 {
				continue
			}
			if err := truncateWAL(ctx, file); err != nil && ctx.Err() == nil {
				l.Debug("WAL truncation: will retry", "file", filepath.Base(file), "error", err)
			}
		}
	}
}

// A FerretDB transaction that has read and then waits for the write lock the checkpoint holds
// never lets the checkpoint finish: so the checkpoint does not wait (busy_timeout 0) but is
// tried again a few milliseconds later, up to truncateAttempts times a tick, to land between
// FerretDB's transactions without stalling them.
const (
	truncateAttempts = 50
	truncatePause    = 2 * time.Millisecond
)

var errCheckpointBusy = errors.New("checkpoint busy: a reader or writer stayed active")

func truncateWAL(ctx context.Context, file string) error {
	// mode=rw: never create the file again if FerretDB has just dropped that database.
	q := "mode=rw&_pragma=busy_timeout(0)&_pragma=secure_delete(on)"
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(file), RawQuery: q}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	for range truncateAttempts {
		var busy, logPages, checkpointed int
		err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &checkpointed)
		if err == nil && busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(truncatePause):
		}
	}
	return errors.Join(errCheckpointBusy, err)
}

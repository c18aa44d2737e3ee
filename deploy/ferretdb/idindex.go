package main

// FerretDB 1.24's SQLite backend finds documents by _id (a find whose filter is exactly
// {_id: <string or ObjectID>}, and every update, replace and delete, which it applies by _id)
// with `WHERE _ferretdb_sjson->'$._id' = ?`, but builds the _id_ index on
// `_ferretdb_sjson->"_id"`. SQLite uses an expression index only for the very same
// expression, so every one of those lookups read the whole table. indexIDs adds an index on
// the expression FerretDB queries to every collection table, including tables created later.
// FerretDB does not know about the index (it is not in its metadata): listIndexes does not show
// it, and DROP TABLE (dropping the collection or database) removes it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	// The driver and SQLite library FerretDB uses, so that this process's connections and
	// FerretDB's share SQLite's in-process lock and WAL-index bookkeeping for each file.
	_ "modernc.org/sqlite"
)

const (
	idIndexSuffix = "_customerhub_id_lookup"
	idIndexPeriod = 500 * time.Millisecond
)

// fileState changes whenever anything is committed to a database (WAL mode: the -wal file is
// written, or the main file on checkpoint), so unchanged files need not be opened again.
type fileState struct {
	modTime, size, walModTime, walSize int64
}

func stateOf(file string) (fileState, bool) {
	fi, err := os.Stat(file)
	if err != nil {
		return fileState{}, false
	}
	s := fileState{modTime: fi.ModTime().UnixNano(), size: fi.Size()}
	if wi, err := os.Stat(file + "-wal"); err == nil {
		s.walModTime, s.walSize = wi.ModTime().UnixNano(), wi.Size()
	}
	return s, true
}

// indexIDs checks the databases in dir every idIndexPeriod until ctx is done.
// Errors (a database or collection dropped meanwhile, a busy database) are retried next time.
func indexIDs(ctx context.Context, dir string, l *slog.Logger) {
	done := map[string]fileState{} // files whose tables were all indexed, and their state then
	t := time.NewTicker(idIndexPeriod)
	defer t.Stop()

	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		next := make(map[string]fileState, len(files))
		for _, file := range files {
			s, ok := stateOf(file)
			if !ok {
				continue
			}
			if prev, ok := done[file]; !ok || prev != s {
				if err := indexFile(ctx, file, l); err != nil {
					if ctx.Err() != nil {
						return
					}
					l.Debug("_id lookup index: will retry", "file", file, "error", err)
					continue
				}
			}
			next[file] = s
		}
		done = next

		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func indexFile(ctx context.Context, file string, l *slog.Logger) error {
	// mode=rw: never create the file again if FerretDB has just dropped that database.
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(file), RawQuery: "mode=rw&_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE table_name || ?
		NOT IN (SELECT name FROM sqlite_schema WHERE type = 'index')`, idIndexSuffix)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err = rows.Scan(&table); err != nil {
			break
		}
		tables = append(tables, table)
	}
	if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
		return err
	}

	for _, table := range tables {
		start := time.Now()
		// Exactly FerretDB's metadata.IDColumn, or SQLite will not use the index.
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+idIndexSuffix, table)
		if _, e := db.ExecContext(ctx, q); e != nil {
			err = errors.Join(err, e)
			continue
		}
		l.Info("created _id lookup index", "file", filepath.Base(file), "table", table, "took", time.Since(start))
	}
	return err
}

// Command ferretdb-customerhub runs FerretDB (the MongoDB wire protocol over an embedded SQLite
// backend) for customerhub's tests and local runs: no PostgreSQL, no Docker, no MongoDB.
//
//	ferretdb-customerhub -listen 127.0.0.1:27018 -data .local/ferretdb/data -wal-truncate-interval 1s
//
// It serves until SIGINT or SIGTERM and logs to stderr. scripts/ferretdb.sh builds and starts it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to serve the MongoDB wire protocol on")
	data := flag.String("data", ".local/ferretdb/data", "directory for the SQLite files (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	durable := flag.Bool("durable", false, "fsync every commit (SQLite synchronous=FULL); off by default: a test server trades crash safety for speed")
	walTruncate := flag.Duration("wal-truncate-interval", time.Second, "how often to checkpoint every database and truncate its WAL, so replaced documents leave the files (0: never)")
	flag.Parse()

	if err := run(*listen, *data, *logLevel, *durable, *walTruncate); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-customerhub: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, data, logLevel string, durable bool, walTruncate time.Duration) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(data)
	if err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	if err = os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	// FerretDB wants a "file:" URI naming an existing directory, with a trailing slash.
	// FerretDB adds its own pragmas (busy_timeout, WAL, auto_vacuum) to the ones given here;
	// modernc.org/sqlite runs each _pragma value on every new connection.
	// secure_delete: freed cells and pages are zeroed, so a replaced document is not left
	// readable in the pages that stay (see walcheckpoint.go for the WAL).
	pragmas := []string{"secure_delete(on)"}
	if !durable {
		pragmas = append(pragmas, "synchronous(OFF)")
	}
	u := &url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/", RawQuery: url.Values{"_pragma": pragmas}.Encode()}
	sqliteURL := u.String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	go indexIDs(ctx, dir, logger)
	if walTruncate > 0 {
		go truncateWALs(ctx, dir, walTruncate, logger)
	}

	logger.Info("ferretdb-customerhub serving", "listen", listen, "sqlite", sqliteURL, "pid", os.Getpid())
	if err = f.Run(ctx); err != nil {
		return err
	}
	logger.Info("ferretdb-customerhub stopped")
	return nil
}

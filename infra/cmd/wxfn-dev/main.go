// Command wxfn-dev runs the local stack (`make dev`): the embedded database, the fs object store,
// the WeChat emulator and every function behind one gateway, until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wxfn/wxfn/infra/devstack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wxfn-dev:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)

	port := getenv("PORT", "8080")
	mongoPort := getenv("WXFN_DEV_MONGO_PORT", "27017")
	dataDir := getenv("WXFN_DATA", ".wxfn")
	started := time.Now()
	s, err := devstack.Start(ctx, devstack.Options{
		DataDir:   dataDir,
		Addr:      net.JoinHostPort("127.0.0.1", port),
		MongoAddr: net.JoinHostPort("127.0.0.1", mongoPort),
		Env:       os.LookupEnv,
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	// make invoke runs a function binary against this stack with the same settings.
	envFile := filepath.Join(dataDir, "dev.env")
	fileEnv := map[string]string{"WXFN_DEV_URL": s.URL}
	for k, v := range s.Env {
		fileEnv[k] = v
	}
	if err := devstack.WriteEnv(envFile, fileEnv); err != nil {
		return err
	}
	printBanner(s, envFile, time.Since(started))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nwxfn-dev: stopping…")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os.Remove(envFile)
	return s.Close(shutdown)
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

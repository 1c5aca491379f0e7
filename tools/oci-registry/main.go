// oci-registry serves go-containerregistry's registry (pkg/registry) with its OCI 1.1
// referrers API switched on, which `crane registry serve` leaves off. kubeward's signature
// tests use it to exercise the referrers API against a real registry implementation (Debian's
// docker-registry, distribution 2.8, has no referrers API); it is test infrastructure, not
// product code. Every request is logged to stderr ("GET /v2/...").
//
// Usage: oci-registry -address 127.0.0.1:PORT [-disk DIR]
package main

import (
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	address := flag.String("address", "127.0.0.1:0", "address to listen on")
	disk := flag.String("disk", "", "directory for blobs (default: memory)")
	flag.Parse()

	options := []registry.Option{
		registry.WithReferrersSupport(true),
		registry.Logger(log.New(os.Stderr, "", log.LstdFlags)),
	}
	if *disk != "" {
		options = append(options, registry.WithBlobHandler(registry.NewDiskBlobHandler(*disk)))
	}
	listener, err := net.Listen("tcp", *address)
	if err != nil {
		log.Fatalln(err)
	}
	server := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: registry.New(options...)}
	log.Printf("serving on %s", listener.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		_ = server.Close()
	}()
	if err := server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalln(err)
	}
}

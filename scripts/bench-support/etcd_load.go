// A stand-in for etcd's own `benchmark` tool (not packaged by Debian), used by scripts/bench when that tool is
// missing: CLIENTS goroutines share CONNS gRPC connections and send TOTAL puts of 100-byte values to random keys,
// or linearizable gets of one key, then print the same summary lines as etcd's tool ("Requests/sec:" and the
// latency distribution), which scripts/bench reads.
//
// Build (Debian, offline): GOPATH=/usr/share/gocode GO111MODULE=off go build -o etcd_load etcd_load.go
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client endpoints")
	conns := flag.Int("conns", 50, "gRPC connections")
	clients := flag.Int("clients", 50, "concurrent clients (one request in flight each)")
	total := flag.Int("total", 10000, "requests in all")
	op := flag.String("op", "put", "put or get (linearizable range of one key)")
	keys := flag.Int("key-space-size", 100000, "distinct keys for puts")
	valueBytes := flag.Int("val-size", 100, "bytes per value")
	flag.Parse()

	connections := make([]*clientv3.Client, *conns)
	for i := range connections {
		c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd_load:", err)
			os.Exit(1)
		}
		connections[i] = c
	}
	value := strings.Repeat("v", *valueBytes)
	work := make(chan int, *total)
	for i := 0; i < *total; i++ {
		work <- i
	}
	close(work)
	latencies := make([][]time.Duration, *clients)
	var group sync.WaitGroup
	start := time.Now()
	for c := 0; c < *clients; c++ {
		group.Add(1)
		go func(c int) {
			defer group.Done()
			kv := connections[c%len(connections)]
			random := rand.New(rand.NewSource(int64(c) + 1))
			for range work {
				began := time.Now()
				var err error
				if *op == "put" {
					_, err = kv.Put(context.Background(), fmt.Sprintf("key-%d", random.Intn(*keys)), value)
				} else {
					_, err = kv.Get(context.Background(), "bench-key")
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "etcd_load:", err)
					continue
				}
				latencies[c] = append(latencies[c], time.Since(began))
			}
		}(c)
	}
	group.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	fmt.Printf("Summary:\n  Total:\t%.4f secs.\n  Requests/sec:\t%.4f\n\n", elapsed.Seconds(),
		float64(len(all))/elapsed.Seconds())
	fmt.Println("Latency distribution:")
	for _, p := range []float64{10, 25, 50, 75, 90, 95, 99, 99.9} {
		if len(all) == 0 {
			break
		}
		index := int(p/100*float64(len(all)) + 0.5)
		if index >= len(all) {
			index = len(all) - 1
		}
		fmt.Printf("  %g%% in %.4f secs.\n", p, all[index].Seconds())
	}
}

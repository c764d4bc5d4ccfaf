package cluster_test

import (
	"log"
	"net/http"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/cluster"
)

func ExampleCluster_Handler() {
	c, err := cluster.New(cluster.Config{
		Node:  "a1",
		Peers: map[string]string{"a2": "http://10.0.0.12:5280"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// The BOSH handler names its sessions "a1.…" (bosh.Config.SIDPrefix:
	// c.SIDPrefix()); requests for "a2.…" go to a2.
	var boshHandler http.Handler = http.NotFoundHandler()
	mux := http.NewServeMux()
	mux.Handle("/http-bind", c.Handler(boshHandler, cluster.Route{
		SID:          cluster.BOSHSID,
		MaxBodyBytes: 1 << 20,
		HoldTimeout:  70 * time.Second,
	}))
}

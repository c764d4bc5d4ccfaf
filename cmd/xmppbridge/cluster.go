package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/cluster"
)

// holdMargin is how much longer than its transport's longest hold a
// forwarded request may wait for the owner's answer to begin.
const holdMargin = 10 * time.Second

// clusterRoutes puts the BOSH and JSON handlers behind the cluster of
// [cluster], which forwards requests of other nodes' sessions to them; with
// no cluster they are returned as they are. stop lets go of the
// connections to the peers.
func clusterRoutes(cfg *Config, boshHandler, jsonHandler http.Handler, log *slog.Logger) (boshRoute, jsonRoute http.Handler, stop func(), err error) {
	if cfg.Cluster.Node == "" {
		return boshHandler, jsonHandler, func() {}, nil
	}
	c, err := cluster.New(cluster.Config{
		Node:  cfg.Cluster.Node,
		Peers: cfg.Cluster.Peers,
		OnForward: func(r *http.Request, node string, err error) {
			switch {
			case err != nil:
				log.Warn("cluster: owner unreachable, answered here", "node", node, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
			case log.Enabled(r.Context(), slog.LevelDebug):
				log.Debug("cluster: forwarded", "node", node, "path", r.URL.Path, "remote", r.RemoteAddr)
			}
		},
	})
	if err != nil {
		return nil, nil, nil, err // validated by Load
	}
	boshRoute = c.Handler(boshHandler, cluster.Route{
		SID:          cluster.BOSHSID,
		MaxBodyBytes: cfg.BOSH.MaxBodyBytes,
		ReadTimeout:  cfg.BOSH.WriteTimeout.Duration,
		WriteTimeout: cfg.BOSH.WriteTimeout.Duration,
		HoldTimeout:  cfg.BOSH.MaxWait.Duration + cfg.BOSH.WriteTimeout.Duration + holdMargin,
	})
	jsonRoute = c.Handler(jsonHandler, cluster.Route{
		SID: cluster.JSONSID,
		// jsonapi's own limit on a POST (Handler.readBody).
		MaxBodyBytes: cfg.Limits.MaxStanzaBytes*2 + 4096,
		ReadTimeout:  cfg.WebSocket.WriteTimeout.Duration,
		WriteTimeout: cfg.WebSocket.WriteTimeout.Duration,
		HoldTimeout:  cfg.JSON.MaxWait.Duration + cfg.WebSocket.WriteTimeout.Duration + holdMargin,
	})
	return boshRoute, jsonRoute, c.Close, nil
}

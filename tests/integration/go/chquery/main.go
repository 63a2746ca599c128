// chquery: runs SQL through clickhouse-go/v2 over HTTP (the driver Grafana's ClickHouse plugin uses
// with `protocol: http`) and prints one JSON line per query: its columns, types and rows, or the
// driver's error. The integration tests build it and point it at `wardwatch serve`'s endpoint.
//
//	echo '["SELECT 1"]' | CH_ADDR=127.0.0.1:8123 CH_USER=grafana CH_PASSWORD=… ./chquery
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"reflect"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

type result struct {
	Columns []string `json:"columns,omitempty"`
	Types   []string `json:"types,omitempty"`
	Rows    [][]any  `json:"rows"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	var queries []string
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "chquery: stdin must be a JSON array of SQL strings:", err)
		os.Exit(2)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{os.Getenv("CH_ADDR")},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Database: "default", Username: os.Getenv("CH_USER"), Password: os.Getenv("CH_PASSWORD")},
		DialTimeout: 30 * time.Second,
		ReadTimeout: 120 * time.Second,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chquery: open:", err)
		os.Exit(1)
	}
	defer conn.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for _, q := range queries {
		_ = enc.Encode(run(conn, q))
	}
}

func run(conn clickhouse.Conn, sql string) result {
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		return result{Error: err.Error(), Rows: [][]any{}}
	}
	defer rows.Close()
	res := result{Rows: [][]any{}}
	types := rows.ColumnTypes()
	for _, t := range types {
		res.Columns = append(res.Columns, t.Name())
		res.Types = append(res.Types, t.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(types))
		for i, t := range types {
			dest[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			res.Error = err.Error()
			return res
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = plain(reflect.ValueOf(d).Elem().Interface())
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		res.Error = err.Error()
	}
	return res
}

// plain turns what the driver scanned into JSON the test can compare with chdb's own rows.
func plain(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999")
	case net.IP:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return plain(rv.Elem().Interface())
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = plain(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

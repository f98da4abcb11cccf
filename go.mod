module github.com/spokehq/spoke

go 1.26

package tenant

import "sigs.k8s.io/yaml"

// MarshalYAML renders a config as YAML with the same field names as its JSON.
func MarshalYAML(c *Config) ([]byte, error) { return yaml.Marshal(c) }

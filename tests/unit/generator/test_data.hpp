// Loading the golden data of tests/data for the generator's tests.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace benchdist::generator::test_data {

inline nlohmann::json load_json(const std::string& name) {
    std::ifstream in(std::string(BENCHDIST_TEST_DATA_DIR) + "/" + name);
    if (!in) throw std::runtime_error("cannot open test data " + name);
    return nlohmann::json::parse(in);
}

inline const nlohmann::json& vector_named(const nlohmann::json& vectors, const std::string& name) {
    for (const auto& entry : vectors) {
        if (entry.at("name") == name) return entry;
    }
    throw std::runtime_error("no vector named " + name);
}

}  // namespace benchdist::generator::test_data

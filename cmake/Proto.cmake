# thb_proto_library(NAME target ROOTS dir... PROTOS file...)
#
# Generates C++ messages and gRPC stubs for PROTOS (paths relative to one of
# ROOTS) into the build tree and builds them as one static library. Include
# paths of the generated headers mirror the proto paths: "thb/registry/v1/...".
# Each service also gets a gMock stub (<stem>_mock.grpc.pb.h) that tests of a
# client can stand in for the transport with; nothing else includes it.
function(thb_proto_library)
  cmake_parse_arguments(ARG "" "NAME" "ROOTS;PROTOS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(include_flags -I${Protobuf_INCLUDE_DIRS})
  foreach(root IN LISTS ARG_ROOTS)
    list(APPEND include_flags -I${root})
  endforeach()
  get_target_property(grpc_plugin gRPC::grpc_cpp_plugin LOCATION)
  set(sources)
  foreach(proto IN LISTS ARG_PROTOS)
    set(abs "")
    foreach(root IN LISTS ARG_ROOTS)
      if(EXISTS ${root}/${proto})
        set(abs ${root}/${proto})
        break()
      endif()
    endforeach()
    if(abs STREQUAL "")
      message(FATAL_ERROR "proto ${proto} not found under ${ARG_ROOTS}")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    set(generated
        ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h
        ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h
        ${out_dir}/${stem}_mock.grpc.pb.h)
    add_custom_command(
      OUTPUT ${generated}
      COMMAND protobuf::protoc ${include_flags}
              --cpp_out=${out_dir} --grpc_out=generate_mock_code=true:${out_dir}
              --plugin=protoc-gen-grpc=${grpc_plugin} ${proto}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND sources ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.grpc.pb.cc)
  endforeach()
  add_library(${ARG_NAME} STATIC ${sources})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC ${out_dir}
                             ${Protobuf_INCLUDE_DIRS})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()
